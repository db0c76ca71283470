-- The wire protocol each request spoke (issue 19): chat, completions, embeddings, messages or
-- responses, as the route named it (protocols/registry.ts). Null for requests from before the
-- protocol layer and for streams the sweeper settled after their replica was lost.
alter table requests add column protocol text;

-- The zero-configuration channel follows the environment's upstream, OpenRouter by default, which
-- serves Anthropic's Messages API natively (/api/v1/messages). Other channels say so themselves.
update channels set protocols = array_append(protocols, 'messages')
  where name = 'default' and base_url is null and not ('messages' = any(protocols));
