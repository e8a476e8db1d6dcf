// gds_free_heap: the heap Graph Data Science can still use (max heap - used), for its memory checks.
// No parameters. Returns bytes: int (GDS's availableHeapInBytes), edition: str ('OpenGDS' or licensed).
CALL gds.debug.sysInfo() YIELD key, value
WITH collect([key, value]) AS info
RETURN [x IN info WHERE x[0] = 'availableHeapInBytes'][0][1] AS bytes,
       [x IN info WHERE x[0] = 'gdsEdition'][0][1] AS edition
