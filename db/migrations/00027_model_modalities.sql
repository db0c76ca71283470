-- What a model takes and gives, as the upstream's catalog says it (OpenRouter's
-- architecture.input_modalities / output_modalities: "text", "image", "file", "audio", ...).
-- null when the catalog does not say; the portal then infers it from the prices (issue 21.7).
alter table models add column input_modalities text[], add column output_modalities text[];
