import type { Sql } from '../db/sql.ts';
import type { BalanceEvents } from '../ledger/types.ts';
import type { Breakers } from '../upstream/breaker.ts';
import type { Catalog } from '../upstream/catalog.ts';
import type { Channels } from '../upstream/channels.ts';
import type { LearnedBounds } from '../upstream/learned-bounds.ts';
import type { Config } from '../app/config.ts';
import type { CorsPolicies } from '../cors/policies.ts';
import type { LedgerQueues } from '../ledger/queues.ts';
import type { LimitStore } from '../limits/store.ts';
import type { Logger } from '../app/log.ts';
import type { SpareHolds } from '../ledger/spare-holds.ts';
import type { RefusalNotices } from '../notify/refusals.ts';
import type { TenantPricing } from '../ledger/tenant-pricing.ts';

/** Tells live subscribers that an account's credit changed outside a request (a purchase, a refund). */

/** The long-lived parts a plugin may use, built once per process and shared by every route. */
export type Services = {
  config: Config;
  sql: Sql;
  keyPepper: string;
  rootTenantId: string;
  log: Logger;
  catalog: Catalog;
  /** The upstream channels, in memory (upstream/channels.ts), and their breakers. */
  channels: Channels;
  breakers: Breakers;
  /** How far each model's reported costs exceeded their catalog bound, applied to its holds. */
  learnedBounds: LearnedBounds;
  tenantPricing: TenantPricing;
  /** Each tenant's allowed browser origins, cached briefly. */
  cors: CorsPolicies;
  ledger: LedgerQueues;
  /** Holds placed ahead for keys in back-to-back use; null when TOLLGATE_SPARE_HOLDS is off. */
  spares: SpareHolds | null;
  limits: LimitStore;
  events: BalanceEvents;
  /** Where `balance` and `ratelimit` tell of refusals that call for a notice; never waited for. */
  refusals: RefusalNotices;
};
