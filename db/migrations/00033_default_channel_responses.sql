-- The zero-configuration channel follows the environment's upstream, OpenRouter by default, which
-- serves OpenAI's Responses API natively (/api/v1/responses): /v1/responses is passed through
-- there. Other channels say so themselves; one that speaks only chat serves it translated.
update channels set protocols = array_append(protocols, 'responses')
  where name = 'default' and base_url is null and not ('responses' = any(protocols));
