// Tests for YmeraLocal live in this folder.
import Testing
