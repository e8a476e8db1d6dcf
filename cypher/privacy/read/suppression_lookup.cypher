// suppression_lookup: which of some keyed hashes are on the suppression list, with the list's key check.
// $hashes: list of str. Returns check: str?, entries: int (size of the whole list), found: list of str.
OPTIONAL MATCH (k:PrivacyKeyCheck {purpose: 'suppression'})
WITH k.check AS check
CALL () {
  MATCH (s:Suppressed)
  RETURN count(s) AS entries
}
OPTIONAL MATCH (s:Suppressed) WHERE s.hash IN $hashes
RETURN check, entries, collect(s.hash) AS found
