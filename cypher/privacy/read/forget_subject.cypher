// forget_subject: what forgetting a user checks first, inside its transaction.
// $userId: str, $hash: str (the user's suppression hash). Returns check: str? (the stored key check),
// entries: int (size of the suppression list), suppressed: bool ($hash is on it), present: bool (the user exists).
OPTIONAL MATCH (k:PrivacyKeyCheck {purpose: 'suppression'})
WITH k.check AS check
CALL () {
  MATCH (s:Suppressed)
  RETURN count(s) AS entries
}
RETURN check, entries,
       EXISTS { MATCH (s:Suppressed {hash: $hash}) } AS suppressed,
       EXISTS { MATCH (u:User {userId: $userId}) } AS present
