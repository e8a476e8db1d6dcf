// fingerprint_graph: every node but the housekeeping ones, one row each, with its outgoing relationships
// (to nodes that are not housekeeping either), all as canonical text, for graph/fingerprint.py, which
// streams the rows: one pass over the store, never one collected result.
// $skip: list of str (labels whose nodes are housekeeping, not data: the schema ledger),
// $keys: map of label -> list of str (the properties that identify a node of that label),
// $ignore: map of label or relationship type -> list of str (properties left out).
// A property's canonical text is "<size of name>:<name><valueType>:<value>", the value as toString() gives
// it (lossless for temporal values, which the driver would decode far more slowly), a list's elements each
// as "<size>:<toString>". Returns one row per node: labels: list of str; names: list of str (properties
// kept); props: list of str (their canonical texts); keyed: bool (some label of the node has a key in
// $keys); key: list of str (the canonical texts of the properties $keys names for its labels); rels: list of [type: str, names: list
// of str, props: list of str, endLabels: list of str, endKeyed: bool, end: list of str (the end node's key
// texts, or, for an end node with no key, the canonical texts of the properties it keeps)].
MATCH (n)
WHERE none(label IN labels(n) WHERE label IN $skip)
WITH n,
     reduce(names = [], label IN labels(n) | names + coalesce($ignore[label], [])) AS dropped,
     reduce(names = [], label IN labels(n) | names + coalesce($keys[label], [])) AS keyNames
CALL (n) {
  MATCH (n)-[r]->(b)
  WHERE none(label IN labels(b) WHERE label IN $skip)
  WITH r, b, coalesce($ignore[type(r)], []) AS relDropped,
       reduce(names = [], label IN labels(b) | names + coalesce($ignore[label], [])) AS endDropped,
       reduce(names = [], label IN labels(b) | names + coalesce($keys[label], [])) AS endKeyNames
  RETURN collect([
    type(r),
    [k IN keys(r) WHERE NOT k IN relDropped],
    [k IN keys(r) WHERE NOT k IN relDropped |
      size(k) + ':' + k + valueType(r[k]) + ':' +
      CASE WHEN valueType(r[k]) STARTS WITH 'LIST'
           THEN reduce(s = '', v IN r[k] | s + size(toString(v)) + ':' + toString(v))
           ELSE toString(r[k]) END],
    labels(b),
    endKeyNames <> [],
    [k IN keys(b) WHERE CASE WHEN endKeyNames = [] THEN NOT k IN endDropped ELSE k IN endKeyNames END |
      size(k) + ':' + k + valueType(b[k]) + ':' +
      CASE WHEN valueType(b[k]) STARTS WITH 'LIST'
           THEN reduce(s = '', v IN b[k] | s + size(toString(v)) + ':' + toString(v))
           ELSE toString(b[k]) END]
  ]) AS rels
}
RETURN labels(n) AS labels,
       [k IN keys(n) WHERE NOT k IN dropped] AS names,
       [k IN keys(n) WHERE NOT k IN dropped |
         size(k) + ':' + k + valueType(n[k]) + ':' +
         CASE WHEN valueType(n[k]) STARTS WITH 'LIST'
              THEN reduce(s = '', v IN n[k] | s + size(toString(v)) + ':' + toString(v))
              ELSE toString(n[k]) END] AS props,
       keyNames <> [] AS keyed,
       [k IN keys(n) WHERE k IN keyNames |
         size(k) + ':' + k + valueType(n[k]) + ':' +
         CASE WHEN valueType(n[k]) STARTS WITH 'LIST'
              THEN reduce(s = '', v IN n[k] | s + size(toString(v)) + ':' + toString(v))
              ELSE toString(n[k]) END] AS key,
       rels
