// V004 consent purpose: statements about personalisation are named 'personalised', as audiences and the
// API name the purpose (it was 'personalisation'). No parameters. Idempotent (renames what is left).
MATCH (c:ConsentChange {purpose: 'personalisation'})
SET c.purpose = 'personalised';
