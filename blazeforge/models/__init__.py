"""Keras 3 layers and models: BlazeBlocks, the hand-landmark backbone, and MediaPipe's published
architectures (hand landmarks, BlazePalm, BlazeFace, FaceMesh, iris). No data code."""
