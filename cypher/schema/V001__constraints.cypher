// V001 constraints: one uniqueness constraint per node key of the graph model (docs/architecture.md).
// No parameters. Every statement is idempotent (IF NOT EXISTS).
CREATE CONSTRAINT schema_migration_version IF NOT EXISTS FOR (m:SchemaMigration) REQUIRE m.version IS UNIQUE;
CREATE CONSTRAINT user_id IF NOT EXISTS FOR (u:User) REQUIRE u.userId IS UNIQUE;
CREATE CONSTRAINT identity_key IF NOT EXISTS FOR (i:Identity) REQUIRE (i.kind, i.value) IS UNIQUE;
CREATE CONSTRAINT product_sku IF NOT EXISTS FOR (p:Product) REQUIRE p.sku IS UNIQUE;
CREATE CONSTRAINT category_id IF NOT EXISTS FOR (c:Category) REQUIRE c.categoryId IS UNIQUE;
CREATE CONSTRAINT brand_id IF NOT EXISTS FOR (b:Brand) REQUIRE b.brandId IS UNIQUE;
CREATE CONSTRAINT order_id IF NOT EXISTS FOR (o:Order) REQUIRE o.orderId IS UNIQUE;
CREATE CONSTRAINT channel_id IF NOT EXISTS FOR (c:Channel) REQUIRE c.channelId IS UNIQUE;
CREATE CONSTRAINT search_term IF NOT EXISTS FOR (s:SearchTerm) REQUIRE s.term IS UNIQUE;
CREATE CONSTRAINT tag_id IF NOT EXISTS FOR (t:Tag) REQUIRE t.tagId IS UNIQUE;
CREATE CONSTRAINT community_id IF NOT EXISTS FOR (c:Community) REQUIRE c.communityId IS UNIQUE;
CREATE CONSTRAINT analytics_run_id IF NOT EXISTS FOR (r:AnalyticsRun) REQUIRE r.runId IS UNIQUE;
CREATE CONSTRAINT audience_id IF NOT EXISTS FOR (a:Audience) REQUIRE a.audienceId IS UNIQUE;
