// Tests for YmeraConfig live in this folder.
import Testing
