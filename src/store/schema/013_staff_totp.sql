-- 013: TOTP second factor for staff (RFC 6238; content/totp.h).
-- totp_secret: the shared secret as RFC 4648 base32, NULL while the
-- person has not turned TOTP on. totp_last_step: the newest 30-second
-- step a code was accepted for (0 = none), so the same code cannot be
-- used twice (store_staff_totp_use only moves it forward).
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
