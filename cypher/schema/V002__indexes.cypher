// V002 indexes: the attributes audiences and analytics filter or sort on.
// No parameters. Every statement is idempotent (IF NOT EXISTS).
CREATE INDEX user_city IF NOT EXISTS FOR (u:User) ON (u.city);
CREATE INDEX user_age_band IF NOT EXISTS FOR (u:User) ON (u.ageBand);
CREATE INDEX user_gender IF NOT EXISTS FOR (u:User) ON (u.gender);
CREATE INDEX user_lifecycle IF NOT EXISTS FOR (u:User) ON (u.lifecycle);
CREATE INDEX user_persona IF NOT EXISTS FOR (u:User) ON (u.persona);
CREATE INDEX user_social_community IF NOT EXISTS FOR (u:User) ON (u.socialCommunity);
CREATE INDEX user_influence IF NOT EXISTS FOR (u:User) ON (u.influence);
CREATE INDEX order_ordered_at IF NOT EXISTS FOR (o:Order) ON (o.orderedAt);
CREATE INDEX tag_tier IF NOT EXISTS FOR (t:Tag) ON (t.tier);
CREATE INDEX channel_kind IF NOT EXISTS FOR (c:Channel) ON (c.kind);
CREATE INDEX community_kind IF NOT EXISTS FOR (c:Community) ON (c.kind);
CREATE FULLTEXT INDEX product_text IF NOT EXISTS FOR (p:Product) ON EACH [p.name, p.description];
