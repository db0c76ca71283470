import { builder } from './builder.ts';
import './scalars.ts';
import './money.ts';
import './account.ts';
import './tenant.ts';
import './viewer.ts';
import './session.ts';
import './api-key.ts';
import './usage.ts';
import './ledger.ts';
import './model.ts';
import './channel.ts';
import './customer.ts';
import './pricing-rule.ts';
import './rate-limit-policy.ts';
import './report.ts';
import './white-label.ts';
import './cors.ts';
import './management-token.ts';
import './live.ts';
import './credit-pack.ts';
import './payment.ts';
import './checkout.ts';
import './auto-top-up.ts';
import './plan.ts';
import './plan-subscription.ts';

/** The schema: each domain file above registers its types and fields on the builder when imported. */
export const schema = builder.toSchema();
