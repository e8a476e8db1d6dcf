// gds_social_counts: users and social ties by kind (from the count store), sizing the GDS memory estimate.
// No parameters. Returns users, follows, friends, referred: int.
CALL () { MATCH (u:User) RETURN count(u) AS users }
CALL () { MATCH ()-[r:FOLLOWS]->() RETURN count(r) AS follows }
CALL () { MATCH ()-[r:FRIEND_OF]->() RETURN count(r) AS friends }
CALL () { MATCH ()-[r:REFERRED]->() RETURN count(r) AS referred }
RETURN users, follows, friends, referred
