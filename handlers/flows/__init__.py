"""One module per conversation: joining a unit, the idea form, my ideas, basics."""
