// tags_top_categories: the top-level categories products sit under, for per-category rule tags.
// No parameters. Returns categoryId: str, name: str.
MATCH (c:Category)
WHERE NOT (c)-[:SUBCATEGORY_OF]->(:Category)
RETURN c.categoryId AS categoryId, coalesce(c.name, c.categoryId) AS name
ORDER BY categoryId
