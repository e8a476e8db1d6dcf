// rehearsal_product: a product for the folding worker's rehearsal (graph/events/fold.py rehearse), which
// folds a made-up view and order of it and rolls them back. No parameters. Returns sku: str (none: no products).
MATCH (p:Product)
RETURN p.sku AS sku
LIMIT 1
