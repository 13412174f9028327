"""Sample events: the shapes AWS services send to a function (HTTP, records), built from a few fields."""
