import { gql } from '$lib/server/api';
import { requireAdmin } from '$lib/server/viewer';
import type { Balance } from '$lib/types';
import type { LayoutServerLoad } from './$types';

export type AdminTenant = { id: string; name: string; slug: string; isRoot: boolean; markupBps: number; customDomain: string | null; wholesaleBalance: Balance | null };

export const load: LayoutServerLoad = async (event) => {
  requireAdmin(event);
  const { tenant, emailConfigured } = await gql<{ tenant: AdminTenant; emailConfigured: boolean }>(
    event,
    'query AdminTenant { emailConfigured tenant { id name slug isRoot markupBps customDomain wholesaleBalance { available { nanos usd } held { nanos usd } paid { nanos usd } granted { nanos usd } } } }',
  );
  return { tenant, emailConfigured };
};
