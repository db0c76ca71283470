/** Shapes of what the GraphQL API answers, as the portal selects them. */

export type Money = { nanos: string; usd: string };
export type Role = 'ADMIN' | 'CUSTOMER' | 'OPERATOR';
export type Status = 'ACTIVE' | 'SUSPENDED';

export type Branding = {
  name: string;
  logoUrl: string | null;
  primaryColor: string | null;
  secondaryColor: string | null;
  supportEmail: string | null;
};

export type Viewer = {
  kind: 'ACCOUNT' | 'MANAGEMENT_TOKEN';
  role: Role;
  isAdmin: boolean;
  isOperator: boolean;
  account: { id: string; email: string; displayName: string | null; balance: { available: Money } } | null;
  tenant: { id: string; name: string; slug: string };
};

export type Balance = { available: Money; held: Money; paid: Money; granted: Money };

export type PageInfo = { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
export type Connection<T> = { edges: { cursor: string; node: T }[]; pageInfo: PageInfo };

export type ApiKey = {
  id: string;
  name: string;
  publicId: string;
  active: boolean;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
  allowedModels: string[] | null;
  creditCap: Money | null;
  spent: Money;
  held: Money;
};

export type UsageRecord = {
  id: string;
  createdAt: string;
  model: string | null;
  route: string;
  /** The wire protocol the request spoke (chat, messages, …); null for requests from before it was recorded. */
  protocol: string | null;
  outcome: 'ABORTED' | 'COMPLETED' | 'FAILED' | 'REFUSED';
  statusCode: number;
  errorCode: string | null;
  promptTokens: number;
  completionTokens: number;
  charge: Money;
  estimated: boolean;
  stream: boolean;
  latencyMs: number | null;
  apiKeyId: string | null;
  accountId?: string;
};

export type UsageBucket = { key: string; requests: number; errors: number; promptTokens: string; completionTokens: string; charge: Money };

export type ModelPrices = { promptPerMillionTokens: Money; completionPerMillionTokens: Money; perRequest: Money; perImage: Money };
export type Model = { id: string; name: string; description: string | null; contextLength: number | null; price: ModelPrices };
