// project_channels: every channel with its internal id, for attribution (channels are few).
// No parameters. Returns ids: list of int, keys: list of str (channelId), kinds: list of str
// (kind, 'unknown' when missing).
MATCH (c:Channel)
RETURN collect(id(c)) AS ids, collect(c.channelId) AS keys, collect(coalesce(c.kind, 'unknown')) AS kinds
