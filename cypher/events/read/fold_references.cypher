// fold_references: what a fold's entries name that the graph holds, in one read: which of the users,
// products and channels exist, and who placed each of the orders (to refuse recording one again for
// someone else). $userIds, $skus, $channelIds, $orderIds: lists of str (each once).
// Returns users, skus, channels: list of str (those found); owners: list of {orderId, userId}.
RETURN
  COLLECT { UNWIND $userIds AS k MATCH (:User {userId: k}) RETURN k } AS users,
  COLLECT { UNWIND $skus AS k MATCH (:Product {sku: k}) RETURN k } AS skus,
  COLLECT { UNWIND $channelIds AS k MATCH (:Channel {channelId: k}) RETURN k } AS channels,
  COLLECT {
    UNWIND $orderIds AS k
    MATCH (u:User)-[:PLACED]->(:Order {orderId: k})
    RETURN {orderId: k, userId: u.userId}
  } AS owners
