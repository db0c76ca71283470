-- The wire protocol each request spoke (issue 19): chat, completions, embeddings, messages or
-- responses, as the route named it (protocols/registry.ts). Null for requests from before the
-- protocol layer and for streams the sweeper settled after their replica was lost.
alter table requests add column protocol text;
