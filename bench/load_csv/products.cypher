// Baseline: products with brand and category tree, as cypher/load/merge_products.cypher.
// $url: file:/// URL of products.csv.
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  WITH row, [x IN split(coalesce(row.category, ''), '/') WHERE trim(x) <> '' | trim(x)] AS parts
  WHERE trim(coalesce(row.sku, '')) <> '' AND coalesce(toFloat(row.price), 0.0) >= 0
  MERGE (p:Product {sku: trim(row.sku)})
  SET p.name = CASE WHEN trim(coalesce(row.name, '')) <> '' THEN trim(row.name) END,
      p.price = toFloat(row.price),
      p.currency = CASE WHEN trim(coalesce(row.currency, '')) <> '' THEN toUpper(trim(row.currency)) END
  FOREACH (_ IN CASE WHEN trim(coalesce(row.brand, '')) <> '' THEN [1] ELSE [] END |
    MERGE (b:Brand {brandId: toLower(trim(row.brand))})
    ON CREATE SET b.name = trim(row.brand)
    MERGE (p)-[:OF_BRAND]->(b))
  WITH p, parts,
       [i IN range(0, size(parts) - 1) |
         reduce(s = '', j IN range(0, i) | s + CASE WHEN j > 0 THEN '/' ELSE '' END + parts[j])] AS ids
  FOREACH (i IN range(0, size(ids) - 1) |
    MERGE (c:Category {categoryId: ids[i]}) ON CREATE SET c.name = parts[i], c.level = i)
  FOREACH (i IN range(1, size(ids) - 1) |
    MERGE (c:Category {categoryId: ids[i]})
    MERGE (up:Category {categoryId: ids[i - 1]})
    MERGE (c)-[:SUBCATEGORY_OF]->(up))
  FOREACH (_ IN CASE WHEN size(ids) > 0 THEN [1] ELSE [] END |
    MERGE (leaf:Category {categoryId: last(ids)})
    MERGE (p)-[:IN_CATEGORY]->(leaf))
} IN TRANSACTIONS OF 1000 ROWS
