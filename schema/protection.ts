import {
  GraphQLError,
  getNamedType,
  isListType,
  isNonNullType,
  isInterfaceType,
  isObjectType,
  Kind,
  NoSchemaIntrospectionCustomRule,
  parse,
  type FragmentDefinitionNode,
  type GraphQLOutputType,
  type GraphQLSchema,
  type GraphQLNamedType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { ApiError } from './errors.ts';
import type { Plugin } from 'graphql-yoga';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.ts';

/**
 * Limits on what one operation may ask for, checked before anything runs:
 * - depth: nesting of fields (fragments are transparent);
 * - cost: every field costs 1, and a list multiplies the cost of what is selected inside it by
 *   its page size (`first`/`last`; the maximum page when given by a variable, which validation
 *   cannot see) or by LIST_SIZE_ESTIMATE for plain lists. A connection's own `edges` list is its
 *   page, so it is not multiplied a second time. Aliases count like any field, so
 *   repeating a field under many aliases is as costly as it is;
 * - tokens: a cap on the document's size, enforced by the parser before any of this.
 * Introspection fields are exempt (they are off in production anyway).
 */

export const MAX_DEPTH = 10;
export const MAX_COST = 5_000;
export const MAX_TOKENS = 2_000;
const LIST_SIZE_ESTIMATE = 20;

type Measure = { depth: number; cost: number };

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

function pageSize(field: {
  arguments?: readonly { name: { value: string }; value: { kind: Kind; value?: unknown } }[];
}): number | undefined {
  const argument = field.arguments?.find((a) => a.name.value === 'first' || a.name.value === 'last');
  if (!argument) return undefined;
  if (argument.value.kind === Kind.INT && typeof argument.value.value === 'string')
    return Math.min(Number(argument.value.value), MAX_PAGE_SIZE);
  return MAX_PAGE_SIZE;
}

function measurer(schema: GraphQLSchema, fragments: Map<string, FragmentDefinitionNode>) {
  const memo = new Map<string, Measure>();
  /** `paged`: the selection is a connection's, whose list fields are the page already counted. */
  const measure = (
    selectionSet: SelectionSetNode,
    parent: GraphQLNamedType | undefined,
    visiting: ReadonlySet<string>,
    paged: boolean,
  ): Measure => {
    let depth = 0;
    let cost = 0;
    const add = (inner: Measure, extraDepth: number, multiplier: number) => {
      depth = Math.max(depth, inner.depth + extraDepth);
      cost += extraDepth + multiplier * inner.cost;
    };
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        const field =
          parent && (isObjectType(parent) || isInterfaceType(parent))
            ? parent.getFields()[selection.name.value]
            : undefined;
        const connection = field?.args.some((a) => a.name === 'first') ?? false;
        // Unknown fields still nest: the limit guards the document's shape even before other rules refuse it.
        const inner = selection.selectionSet
          ? measure(selection.selectionSet, field ? getNamedType(field.type) : undefined, visiting, connection)
          : { depth: 0, cost: 0 };
        const multiplier = connection
          ? (pageSize(selection) ?? DEFAULT_PAGE_SIZE)
          : field && isList(field.type) && !paged
            ? LIST_SIZE_ESTIMATE
            : 1;
        add(inner, 1, multiplier);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        add(measure(selection.selectionSet, type ?? undefined, visiting, paged), 0, 1);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // A cycle is reported by the standard NoFragmentCycles rule; here it only must not loop.
        if (!fragment || visiting.has(name)) continue;
        const key = `${name}:${paged}`;
        const known =
          memo.get(key) ??
          measure(
            fragment.selectionSet,
            schema.getType(fragment.typeCondition.name.value) ?? undefined,
            new Set([...visiting, name]),
            paged,
          );
        memo.set(key, known);
        add(known, 0, 1);
      }
    }
    return { depth, cost };
  };
  return measure;
}

const complexityRule: ValidationRule = (context: ValidationContext) => ({
  OperationDefinition(operation) {
    const schema = context.getSchema();
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const root = schema.getRootType(operation.operation) ?? undefined;
    const { depth, cost } = measurer(schema, fragments)(operation.selectionSet, root, new Set(), false);
    if (depth > MAX_DEPTH) {
      context.reportError(
        new ApiError(
          'QUERY_TOO_DEEP',
          `Query is too deep: depth ${depth} exceeds the limit of ${MAX_DEPTH}.`,
          undefined,
          undefined,
          [operation],
        ),
      );
    }
    if (cost > MAX_COST) {
      context.reportError(
        new ApiError(
          'QUERY_TOO_COSTLY',
          `Query is too costly: estimated cost ${cost} exceeds the limit of ${MAX_COST}. Ask for smaller pages or fewer fields.`,
          undefined,
          undefined,
          [operation],
        ),
      );
    }
  },
});

const SUGGESTION = / Did you mean .+\?$/;

/** The yoga plugin: token cap in the parser, the complexity rule, and in production no introspection and no "Did you mean" hints. */
export function protection(production: boolean): Plugin {
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => parse(source, { ...options, maxTokens: MAX_TOKENS }));
    },
    onValidate({ addValidationRule }) {
      addValidationRule(complexityRule);
      if (production) addValidationRule(NoSchemaIntrospectionCustomRule);
      return ({ result, setResult }) => {
        if (!production || result.length === 0) return;
        setResult(
          result.map((error) =>
            SUGGESTION.test(error.message)
              ? new GraphQLError(error.message.replace(SUGGESTION, ''), {
                  nodes: error.nodes,
                  extensions: error.extensions,
                })
              : error,
          ),
        );
      };
    },
  };
}
