import { splitBreakerKey, type Breakers } from './breaker.ts';
import type { Channels } from './channels.ts';
import type { Attempt } from './failover.ts';

/**
 * The channels in `/metrics`: upstream attempts by channel and outcome (per replica; Prometheus
 * sums them), each channel's state, and every breaker that is not closed.
 */

const label = (value: string) => value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

export type ChannelMetrics = { count(attempts: readonly Attempt[]): void; lines(): string[] };

export type ChannelSource = { channels: Channels; breakers: Breakers };

export function createChannelMetrics(source: () => ChannelSource | undefined): ChannelMetrics {
  const attempts = new Map<string, number>();
  return {
    count(made) {
      for (const attempt of made) {
        const key = `${attempt.channel}\u0000${attempt.outcome}`;
        attempts.set(key, (attempts.get(key) ?? 0) + 1);
      }
    },
    lines() {
      const lines = [
        '# HELP tollgate_upstream_attempts_total Upstream calls by channel and outcome ' +
          '(answered, failed, unreachable, timeout, capped, aborted).',
        '# TYPE tollgate_upstream_attempts_total counter',
      ];
      for (const [key, value] of attempts) {
        const [channel = '', outcome = ''] = key.split('\u0000');
        lines.push(`tollgate_upstream_attempts_total{channel="${label(channel)}",outcome="${outcome}"} ${value}`);
      }
      const current = source();
      if (!current) return lines;
      lines.push(
        '# HELP tollgate_channel_routable 1 when the channel may take requests on this replica ' +
          '(active or draining, its key set).',
        '# TYPE tollgate_channel_routable gauge',
      );
      for (const channel of current.channels.list()) {
        const up = channel.state !== 'disabled' && channel.problem === null ? 1 : 0;
        lines.push(`tollgate_channel_routable{channel="${label(channel.name)}",state="${channel.state}"} ${up}`);
      }
      lines.push(
        '# HELP tollgate_channel_breaker Breakers that are not closed, by channel, model and state (open, half_open).',
        '# TYPE tollgate_channel_breaker gauge',
      );
      for (const view of current.breakers.snapshot()) {
        const { channel, model } = splitBreakerKey(view.key);
        const name = current.channels.byId(channel)?.name ?? channel;
        lines.push(
          `tollgate_channel_breaker{channel="${label(name)}",model="${label(model)}",state="${view.state}"} 1`,
        );
      }
      return lines;
    },
  };
}
