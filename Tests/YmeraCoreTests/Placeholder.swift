// Tests for YmeraCore live in this folder.
import Testing
