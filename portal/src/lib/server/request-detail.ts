import type { RequestEvent } from '@sveltejs/kit';
import { REQUEST_DETAIL_FIELDS, type RequestDetail } from '$lib/requests';
import { ApiError, gql } from './api';

const DETAIL = `query RequestDetail($id: ID!) { usageRecord(id: $id) { ${REQUEST_DETAIL_FIELDS} } }`;

/** The request whose drawer is open (`?request=`), or why it cannot be shown; nothing when none is. */
export async function requestDetail(
  event: RequestEvent,
): Promise<{ detail: RequestDetail | null; detailError: string | null }> {
  const id = event.url.searchParams.get('request');
  if (!id) return { detail: null, detailError: null };
  try {
    return {
      detail: (await gql<{ usageRecord: RequestDetail }>(event, DETAIL, { id })).usageRecord,
      detailError: null,
    };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'NOT_FOUND')
      return { detail: null, detailError: 'This request is not in the log.' };
    throw error;
  }
}
