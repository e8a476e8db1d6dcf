// set_product_community_categories: the most common leaf categories of each product community of a run.
// $runId: str, $top: int (how many categories to keep). Ties go to the smaller categoryId.
MATCH (c:Community {kind: 'product', runId: $runId})<-[:IN_COMMUNITY]-(:Product)-[:IN_CATEGORY]->(cat:Category)
WITH c, cat.categoryId AS categoryId, count(*) AS members
ORDER BY members DESC, categoryId
WITH c, collect(categoryId) AS categories
SET c.topCategories = categories[..$top]
