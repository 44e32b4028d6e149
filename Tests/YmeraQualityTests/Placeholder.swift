// Tests for YmeraQuality live in this folder.
import Testing
