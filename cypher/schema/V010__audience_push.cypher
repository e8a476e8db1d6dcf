// V010 audience push: the pushes of saved audiences to ad platforms (graph/activation/, docs/activation.md),
// looked up by audience and platform for the next diff. No parameters. Every statement is idempotent.
CREATE CONSTRAINT audience_push_id IF NOT EXISTS FOR (p:AudiencePush) REQUIRE p.pushId IS UNIQUE;
CREATE INDEX audience_push_audience IF NOT EXISTS FOR (p:AudiencePush) ON (p.audienceId, p.platform);
// The users with advertising consent, read once per identities file: only their identities get match keys.
CREATE INDEX user_advertising_consent IF NOT EXISTS FOR (u:User) ON (u.advertisingConsent);
