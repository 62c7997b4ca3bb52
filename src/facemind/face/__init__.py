"""Face signals from videos: frame schema, decoding, landmarker backend, OpenFace import, batch runner."""
