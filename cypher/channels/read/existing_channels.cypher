// existing_channels: which of the given keys name an existing Channel (for reference checks).
// $keys: list of str. Returns found: list of str.
UNWIND $keys AS k
MATCH (n:Channel {channelId: k})
RETURN collect(k) AS found
