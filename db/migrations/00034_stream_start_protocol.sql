-- A stream's note keeps the protocol its route spoke, so a stream the sweeper settles after its
-- replica was lost is recorded with it like any other request. Null in notes written before.
alter table stream_starts add column protocol text;
