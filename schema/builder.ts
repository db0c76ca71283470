import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { isAdmin, type AccountContext, type GraphqlContext, type SignedInContext } from './context.ts';
import { forbidden, unauthenticated } from './errors.ts';

/**
 * The one schema builder. Roles are scope-auth scopes:
 * - `signedIn`: anyone authenticated (account or management token);
 * - `account`: a person with an account (customer, admin or operator);
 * - `admin`: a tenant admin, by account or by management token;
 * - `adminAccount`: a tenant admin signed in as a person (what minting management tokens needs);
 * - `operator`: an operator account of the root tenant.
 * Each scope narrows the resolver's context type, so resolvers never re-check who is calling.
 */
export const builder = new SchemaBuilder<{
  Context: GraphqlContext;
  AuthScopes: { signedIn: boolean; account: boolean; admin: boolean; adminAccount: boolean; operator: boolean };
  AuthContexts: {
    signedIn: SignedInContext;
    account: AccountContext;
    admin: SignedInContext;
    adminAccount: AccountContext;
    operator: AccountContext;
  };
  Scalars: {
    Nanos: { Input: bigint; Output: bigint };
    Count: { Input: bigint; Output: bigint };
    DateTime: { Input: Date; Output: Date };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => {
      const viewer = ctx.viewer;
      const account = viewer?.kind === 'account' ? viewer.account : undefined;
      return {
        signedIn: viewer !== null,
        account: account !== undefined,
        admin: isAdmin(viewer),
        adminAccount: account !== undefined && isAdmin(viewer),
        operator: account?.role === 'operator' && viewer?.tenant.parentId === null,
      };
    },
    unauthorizedError: (_parent, ctx) =>
      ctx.viewer ? forbidden('You are not allowed to do this.') : unauthenticated('Sign in first.'),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
