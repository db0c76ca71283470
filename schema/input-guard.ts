import {
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ApiError, invalidInput } from './errors.ts';

/**
 * Every argument value, literal or variable, checked against what the layers below can hold before
 * anything runs: no NUL byte in any text (PostgreSQL's text type cannot store one), and each custom
 * scalar's bounds (schema/scalars.ts). A refusal is one INVALID_INPUT whose `field` is the path
 * from the argument, like `filter.from` or `input.amount.nanos`, whatever the client named its
 * variables; without this a scalar's refusal names only its type and a NUL byte fails in SQL.
 */

type Variables = Readonly<Record<string, unknown>>;

const NUL = '\u0000';

function join(path: string, segment: string | number): string {
  return typeof segment === 'number' ? `${path}[${segment}]` : `${path}.${segment}`;
}

function named(error: unknown, path: string): ApiError | undefined {
  return error instanceof ApiError && error.code === 'INVALID_INPUT' ? invalidInput(path, error.message) : undefined;
}

/** A variable's JSON value against its input type; the first problem found, or undefined. */
function checkValue(value: unknown, type: GraphQLInputType, path: string): ApiError | undefined {
  if (value === null || value === undefined) return undefined;
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    const items = Array.isArray(value) ? value : [value];
    for (const [index, item] of items.entries()) {
      const problem = checkValue(item, inner.ofType, join(path, index));
      if (problem) return problem;
    }
    return undefined;
  }
  if (isInputObjectType(inner)) {
    if (typeof value !== 'object') return undefined;
    const fields = inner.getFields();
    for (const [key, item] of Object.entries(value)) {
      const field = fields[key];
      const problem = field ? checkValue(item, field.type, join(path, key)) : undefined;
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === 'string' && value.includes(NUL)) return invalidInput(path, 'Text cannot contain a NUL byte.');
  if (!isScalarType(inner)) return undefined;
  try {
    inner.parseValue(value);
  } catch (error) {
    return named(error, path);
  }
  return undefined;
}

/** The same walk over a literal in the document, following variables into their values. */
function checkNode(node: ValueNode, type: GraphQLInputType, path: string, variables: Variables): ApiError | undefined {
  const inner = isNonNullType(type) ? type.ofType : type;
  if (node.kind === Kind.VARIABLE) return checkValue(variables[node.name.value], inner, path);
  if (node.kind === Kind.NULL) return undefined;
  if (isListType(inner)) {
    const items = node.kind === Kind.LIST ? node.values : [node];
    for (const [index, item] of items.entries()) {
      const problem = checkNode(item, inner.ofType, join(path, index), variables);
      if (problem) return problem;
    }
    return undefined;
  }
  if (isInputObjectType(inner)) {
    if (node.kind !== Kind.OBJECT) return undefined;
    const fields = inner.getFields();
    for (const field of node.fields) {
      const definition = fields[field.name.value];
      const problem = definition
        ? checkNode(field.value, definition.type, join(path, field.name.value), variables)
        : undefined;
      if (problem) return problem;
    }
    return undefined;
  }
  if (node.kind === Kind.STRING && node.value.includes(NUL))
    return invalidInput(path, 'Text cannot contain a NUL byte.');
  if (!isScalarType(inner)) return undefined;
  try {
    inner.parseLiteral(node, variables);
  } catch (error) {
    return named(error, path);
  }
  return undefined;
}

/** The first bad argument value of the document, with its path; undefined when all are fine. */
function firstBadInput(schema: GraphQLSchema, document: DocumentNode, variables: Variables): ApiError | undefined {
  const typeInfo = new TypeInfo(schema);
  let problem: ApiError | undefined;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        const argument = typeInfo.getArgument();
        if (problem || !argument) return;
        problem = checkNode(node.value, argument.type, node.name.value, variables);
      },
    }),
  );
  return problem;
}

/**
 * The yoga plugin. A scalar refusing a literal surfaces during validation, as the scalar's own
 * error without a path: it is replaced by the named one. Variables are checked before execution.
 */
export function inputGuard(): Plugin {
  return {
    onValidate({ params }) {
      return ({ result, setResult }) => {
        if (!result.some((error: Error) => error instanceof ApiError)) return;
        const problem = firstBadInput(params.schema, params.documentAST, {});
        if (problem) setResult([problem]);
      };
    },
    onExecute({ args, setResultAndStopExecution }) {
      const problem = firstBadInput(args.schema, args.document, args.variableValues ?? {});
      if (problem) setResultAndStopExecution({ errors: [problem] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const problem = firstBadInput(args.schema, args.document, args.variableValues ?? {});
      if (problem) setResultAndStopExecution({ errors: [problem] });
    },
  };
}
