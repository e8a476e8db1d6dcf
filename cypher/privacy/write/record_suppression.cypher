// record_suppression: put a forgotten user's keyed hash on the suppression list (never the raw id), and the
// key check when the list is first written. $hash: str, $check: str (keyed hash of a fixed text),
// $actor: str (who carried the erasure out: an operator or API client, not the user).
MERGE (k:PrivacyKeyCheck {purpose: 'suppression'})
ON CREATE SET k.check = $check, k.createdAt = datetime()
MERGE (s:Suppressed {hash: $hash})
ON CREATE SET s.at = datetime(), s.by = $actor
