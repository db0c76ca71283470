import { AccountRef, RoleEnum } from './account.ts';
import { builder } from './builder.ts';
import { isAdmin, type Viewer } from './context.ts';
import { TenantRef } from './tenant.ts';

/** Who is calling. The portal's first query; null when nobody is signed in. */

const ViewerKindEnum = builder.enumType('ViewerKind', {
  values: { ACCOUNT: { value: 'account' }, MANAGEMENT_TOKEN: { value: 'management' } } as const,
});

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  fields: (t) => ({
    kind: t.field({ type: ViewerKindEnum, resolve: (v) => v.kind }),
    account: t.field({
      type: AccountRef,
      nullable: true,
      description: 'The signed-in account; null for a management token, which acts as its tenant with no account.',
      resolve: (v) => (v.kind === 'account' ? v.account : null),
    }),
    tenant: t.field({ type: TenantRef, resolve: (v) => v.tenant }),
    role: t.field({
      type: RoleEnum,
      description: 'A management token acts as an admin.',
      resolve: (v) => (v.kind === 'account' ? v.account.role : 'admin'),
    }),
    isAdmin: t.boolean({ resolve: (v) => isAdmin(v) }),
    isOperator: t.boolean({
      resolve: (v) => v.kind === 'account' && v.account.role === 'operator' && v.tenant.parentId === null,
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({ type: ViewerRef, nullable: true, resolve: (_root, _args, ctx) => ctx.viewer }),
);
