// placeholder_channels: create bare Channel nodes for referenced keys (the loader's --create-missing flag).
// $keys: list of str. Placeholders carry placeholder = true until their own row arrives.
UNWIND $keys AS k
MERGE (n:Channel {channelId: k})
ON CREATE SET n.placeholder = true
