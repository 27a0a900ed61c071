"""Negative response code (the third byte of ``7F <service> <code>``) -> its ISO 14229-1 name."""

from __future__ import annotations

NEGATIVE_RESPONSE = 0x7F
RESPONSE_PENDING = 0x78

NRC_NAMES: dict[int, str] = {
    0x10: "generalReject",
    0x11: "serviceNotSupported",
    0x12: "subFunctionNotSupported",
    0x13: "incorrectMessageLengthOrInvalidFormat",
    0x14: "responseTooLong",
    0x21: "busyRepeatRequest",
    0x22: "conditionsNotCorrect",
    0x24: "requestSequenceError",
    0x25: "noResponseFromSubnetComponent",
    0x26: "failurePreventsExecutionOfRequestedAction",
    0x31: "requestOutOfRange",
    0x33: "securityAccessDenied",
    0x35: "invalidKey",
    0x36: "exceedNumberOfAttempts",
    0x37: "requiredTimeDelayNotExpired",
    0x70: "uploadDownloadNotAccepted",
    0x71: "transferDataSuspended",
    0x72: "generalProgrammingFailure",
    0x73: "wrongBlockSequenceCounter",
    0x78: "requestCorrectlyReceived-ResponsePending",
    0x7E: "subFunctionNotSupportedInActiveSession",
    0x7F: "serviceNotSupportedInActiveSession",
}


def nrc_name(code: int) -> str:
    """0x22 -> "conditionsNotCorrect"; codes the standard leaves to manufacturers are named by range."""
    if code in NRC_NAMES:
        return NRC_NAMES[code]
    if 0x38 <= code <= 0x4F:
        return "reservedByExtendedDataLinkSecurity"
    if 0xF0 <= code <= 0xFE:
        return "vehicleManufacturerSpecific"
    return "ISOSAEReserved"
