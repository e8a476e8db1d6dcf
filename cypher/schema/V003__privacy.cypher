// V003 privacy: the suppression list of forgotten users, its key check, and the customer index forget uses.
// No parameters. Every statement is idempotent (IF NOT EXISTS). docs/privacy-data.md.
CREATE CONSTRAINT suppressed_hash IF NOT EXISTS FOR (s:Suppressed) REQUIRE s.hash IS UNIQUE;
CREATE CONSTRAINT privacy_key_check_purpose IF NOT EXISTS FOR (k:PrivacyKeyCheck) REQUIRE k.purpose IS UNIQUE;
CREATE INDEX user_customer_id IF NOT EXISTS FOR (u:User) ON (u.customerId);
