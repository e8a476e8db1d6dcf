// suppression_list: the whole suppression list (keyed hashes of forgotten users) and its key check, read
// once per load. No parameters. Returns check: str? (keyed hash of a fixed text under the key the list was
// written with), hashes: list of str.
OPTIONAL MATCH (k:PrivacyKeyCheck {purpose: 'suppression'})
WITH k.check AS check
OPTIONAL MATCH (s:Suppressed)
RETURN check, collect(s.hash) AS hashes
