// The HTTP client's KinesisClient conformance lives in the Attach module (with AttachClient).
import Attach
