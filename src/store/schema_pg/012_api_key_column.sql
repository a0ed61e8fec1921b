-- 012_api_key_column.sql - api_keys.secret_hash becomes api_keys.content_key.
-- Content API keys are public by design (front-ends embed them in pages,
-- as with Ghost), so the key itself is kept, not a hash of it: the desk and
-- `newsroom key list` show it again. The column's old name said otherwise.
ALTER TABLE api_keys RENAME COLUMN secret_hash TO content_key;
