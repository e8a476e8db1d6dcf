// merge_channels: upsert channels.
// $rows: list of {channelId: str, props: {name: str?, kind: str?}}
UNWIND $rows AS row
MERGE (c:Channel {channelId: row.channelId})
SET c += row.props
REMOVE c.placeholder
