// merge_products: upsert products with their brand and category path (a tree of Category nodes).
// $rows: list of {sku: str, props: {name, price, currency}, brand: str?,
//                 categories: list of {categoryId: str (full path), name: str, level: int}}
UNWIND $rows AS row
MERGE (p:Product {sku: row.sku})
SET p += row.props
REMOVE p.placeholder
WITH p, row
CALL (p, row) {
  WITH p, row WHERE row.brand IS NOT NULL
  MERGE (b:Brand {brandId: toLower(row.brand)})
  ON CREATE SET b.name = row.brand
  MERGE (p)-[:OF_BRAND]->(b)
}
CALL (p, row) {
  UNWIND range(0, size(row.categories) - 1) AS i
  WITH row.categories[i] AS cat, CASE WHEN i > 0 THEN row.categories[i - 1] END AS parent
  MERGE (c:Category {categoryId: cat.categoryId})
  ON CREATE SET c.name = cat.name, c.level = cat.level
  WITH c, parent WHERE parent IS NOT NULL
  MATCH (up:Category {categoryId: parent.categoryId})
  MERGE (c)-[:SUBCATEGORY_OF]->(up)
}
CALL (p, row) {
  WITH p, row WHERE size(row.categories) > 0
  MATCH (leaf:Category {categoryId: last(row.categories).categoryId})
  MERGE (p)-[:IN_CATEGORY]->(leaf)
}
