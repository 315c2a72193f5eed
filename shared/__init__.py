"""What the coordinator and the participants both speak: schema, codec, time, scenario."""
