// Tests for YmeraStore live in this folder.
import Testing
