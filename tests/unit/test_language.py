"""Tests for handlers.language and its word lists (handlers.language_words): Vietnamese with
and without diacritics, English, edge cases."""

from __future__ import annotations

import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import language
from handlers.language import (
    detect_language,
    is_vietnamese,
    looks_unaccented_vietnamese,
    reply_language,
)
from handlers.language_words import (
    COMMON_VI_SYLLABLES,
    VALID_SYLLABLES,
    VI_SHORTCUTS,
    is_valid_syllable,
)
from handlers.textnorm import fold

# Realistic ideas from garment, electronics, food and office workers.
VIETNAMESE_IDEAS: list[str] = [
    "Đề nghị lắp thêm quạt thông gió ở xưởng may số 2 vì công nhân bị nóng quá.",
    "Băng chuyền ở chuyền 3 hay bị dừng, nên kiểm tra cảm biến mỗi ca.",
    "Giảm phế liệu bằng cách tận dụng vải vụn để làm giẻ lau máy.",
    "Nhà ăn nên có thêm món chay cho người lao động ăn chay vào ngày rằm.",
    "Tổ chức khám sức khỏe định kỳ sáu tháng một lần cho công nhân.",
    "Lắp gương cầu lồi ở góc khuất trong kho để xe nâng không va chạm.",
    "Thay bóng đèn huỳnh quang bằng đèn LED để tiết kiệm điện.",
    "Cần có thêm ghế ngồi nghỉ cho chị em mang thai ở chuyền may.",
    "Sắp xếp lại kệ dụng cụ theo 5S để tìm đồ nhanh hơn.",
    "Nên dán nhãn màu cho các thùng rác để phân loại rác thải.",
    "Công đoàn nên tổ chức lớp học tiếng Anh miễn phí buổi tối.",
    "Bãi giữ xe máy bị ngập khi trời mưa, đề nghị làm mái che và rãnh thoát nước.",
    "Máy ép nhiệt hay bị quá nhiệt, cần bảo trì định kỳ hàng tuần.",
    "Đổi ca làm việc linh hoạt hơn cho người có con nhỏ.",
    "Nước uống ở xưởng hết nhanh, nên đặt thêm bình nước lọc.",
    "Đề xuất dùng phần mềm để đăng ký nghỉ phép thay cho giấy tờ.",
    "Nhà vệ sinh nữ ở tầng hai thường xuyên hỏng vòi nước.",
    "Tăng số lượng xe đưa đón công nhân vào giờ tan ca.",
    "Nên có tủ thuốc sơ cứu ở mỗi tổ sản xuất.",
    "Hướng dẫn an toàn lao động bằng video ngắn thay vì đọc văn bản dài.",
    "Làm vách ngăn cách âm quanh máy nén khí để giảm tiếng ồn.",
    "Cải tiến gá kẹp giúp công nhân may cổ áo nhanh hơn.",
    "Cần thêm ánh sáng ở khu vực kiểm hàng vì khó nhìn thấy lỗi.",
    "Phòng họp nên có máy chiếu mới, máy cũ bị mờ.",
    "Tái sử dụng thùng carton để đóng gói hàng nội bộ.",
    "Thưởng cho tổ có ít hàng lỗi nhất trong tháng.",
    "Căng tin nên mở cửa sớm hơn cho ca sáng.",
    "Gắn biển cảnh báo sàn trơn ở khu vực rửa.",
    "Mở lớp đào tạo kỹ năng cho tổ trưởng mới.",
    "Tự động hóa khâu đếm hàng bằng cân điện tử.",
    "Lắp camera ở cổng để bảo vệ tài sản của người lao động.",
    "Nên bố trí chỗ để điện thoại khi làm việc để tránh mất tập trung.",
    "Thời gian nghỉ giữa ca quá ngắn, đề nghị tăng lên mười lăm phút.",
    "Đường đi trong xưởng bị chắn bởi hàng hóa, cần kẻ vạch lối đi.",
    "Cung cấp khẩu trang và nút tai chống ồn cho bộ phận dệt.",
    "Hộp góp ý nên đặt ở nơi dễ thấy gần cổng ra vào.",
    "Quy trình xin tạm ứng lương còn chậm, nên rút gọn thủ tục.",
    "Ghế ngồi ở chuyền may quá thấp, gây đau lưng.",
    "Giặt đồng phục miễn phí cho công nhân làm việc ở bộ phận nhuộm.",
    "Đặt máy lọc không khí trong phòng sơn.",
    "Chúng tôi đề nghị công ty hỗ trợ tiền nhà trọ cho công nhân ở xa.",
    "Nên tổ chức hội thao vào dịp kỷ niệm thành lập công đoàn.",
    "Xe nâng chạy quá nhanh trong kho, cần giới hạn tốc độ.",
    "Mỗi tháng nên có buổi đối thoại giữa ban giám đốc và người lao động.",
]

# The same kind of ideas, typed quickly on a phone without diacritics, with shortcuts.
HAND_TYPED_UNACCENTED: list[str] = [
    "cong nhan ko du quat, nong qua",
    "xuong may so 2 nong lam, de nghi lap them quat",
    "bang chuyen hay bi dung, ko biet tai sao",
    "nha an ko co mon chay, ae an chay ko dc",
    "may ep nhiet hu hoai, bao ma ko ai sua",
    "cty nen cho cn nghi them 15p giua ca",
    "de xuat lam mai che cho bai xe vs a",
    "toi muon gop y ve viec tang ca qua nhieu",
    "sao nha ve sinh tang 2 hu hoai ma ko sua j het",
    "k co nuoc uong o xuong 3 tu sang toi gio",
    "xe dua don cn ve tre qua, moi ngay cho 30p",
    "de nghi cd to chuc kham suc khoe cho nld",
    "to truong chuyen 5 la ai vay, e can hoi",
    "lam sao de dang ky nghi phep vay mn",
    "ghe ngoi thap qua dau lung lam",
    "cho e hoi sang kien dc thuong bao nhieu",
    "nen co lop hoc tieng anh buoi toi cho cn",
    "khu kiem hang toi qua, nhin ko ro loi",
    "ko co tu thuoc so cuu o to san xuat",
    "xe nang chay nhanh qua, nguy hiem cho nguoi di bo",
    "to can them 2 nguoi",
    "cam on cong doan nhieu",
]

ENGLISH_IDEAS: list[str] = [
    "The conveyor belt stops too often",
    "Reduce scrap by reusing offcuts",
    "Please install another fan in sewing workshop 2 because it is too hot.",
    "The canteen should offer a vegetarian meal on full moon days.",
    "Workers need a regular health check every six months.",
    "Put a convex mirror at the blind corner of the warehouse so forklifts do not collide.",
    "Replace the fluorescent tubes with LED lamps to save electricity.",
    "We need more chairs for pregnant workers on the sewing line.",
    "Organise the tool shelves following 5S so that we can find things faster.",
    "Use colour labels on the bins to separate the waste.",
    "The union could organise free English classes in the evening.",
    "The motorbike parking floods when it rains; please build a roof and a drain.",
    "The heat press overheats a lot and needs weekly maintenance.",
    "Allow flexible shifts for parents with young children.",
    "Drinking water in the workshop runs out quickly, add more water dispensers.",
    "Use an app to request leave instead of paper forms.",
    "The tap in the women's toilet on the second floor is always broken.",
    "Add more shuttle buses at the end of the shift.",
    "Every production team should have a first aid kit.",
    "Show short safety videos instead of long documents.",
    "Build a soundproof wall around the air compressor to reduce noise.",
    "A better clamp would help workers sew collars faster.",
    "We need more light in the inspection area because defects are hard to see.",
    "The meeting room needs a new projector; the old one is blurry.",
    "Reuse cardboard boxes for internal packaging.",
    "Give a bonus to the team with the fewest defects each month.",
    "The canteen should open earlier for the morning shift.",
    "Put up signs warning about the slippery floor in the washing area.",
    "Run a training course for new team leaders.",
    "Automate counting with an electronic scale.",
    "Install cameras at the gate to protect workers' belongings.",
    "Provide a place to leave phones during work to avoid distraction.",
    "The break between shifts is too short; please make it fifteen minutes.",
    "Paths in the workshop are blocked by goods, we should paint walkway lines.",
    "Provide masks and ear plugs for the weaving department.",
    "Place the suggestion box somewhere visible near the entrance.",
    "Getting a salary advance takes too long, simplify the procedure.",
    "The chairs on the sewing line are too low and cause back pain.",
    "Wash uniforms for free for people working in the dyeing section.",
    "Put an air purifier in the paint room.",
    "Forklifts drive too fast in the warehouse, there should be a speed limit.",
    "Hold a monthly dialogue between the management and the workers.",
]


def strip_diacritics_keep_case(text: str) -> str:
    """What many phones produce: the same letters without any marks, đ typed as d."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def test_corpus_sizes() -> None:
    assert len(VIETNAMESE_IDEAS) >= 40
    assert len(ENGLISH_IDEAS) >= 40
    assert len(HAND_TYPED_UNACCENTED) >= 20


@pytest.mark.parametrize("text", VIETNAMESE_IDEAS)
def test_vietnamese_with_diacritics(text: str) -> None:
    assert detect_language(text) == "vi"
    assert is_vietnamese(text)
    assert not looks_unaccented_vietnamese(text)


@pytest.mark.parametrize("text", VIETNAMESE_IDEAS)
def test_vietnamese_folded(text: str) -> None:
    folded = fold(text)
    assert detect_language(folded) == "vi"
    assert detect_language(folded, default="xx") == "vi"
    assert looks_unaccented_vietnamese(folded)
    assert reply_language(chosen=None, telegram_language_code=None, text=folded) == "vi"


@pytest.mark.parametrize("text", VIETNAMESE_IDEAS)
def test_vietnamese_stripped_keeping_case(text: str) -> None:
    stripped = strip_diacritics_keep_case(text)
    assert detect_language(stripped) == "vi"
    assert reply_language(chosen=None, telegram_language_code="ru", text=stripped) == "vi"


@pytest.mark.parametrize("text", HAND_TYPED_UNACCENTED)
def test_hand_typed_unaccented_vietnamese(text: str) -> None:
    assert detect_language(text, default="xx") == "vi"
    assert looks_unaccented_vietnamese(text)
    assert reply_language(chosen=None, telegram_language_code=None, text=text) == "vi"


@pytest.mark.parametrize("text", ENGLISH_IDEAS)
def test_english(text: str) -> None:
    assert detect_language(text) == "en"
    assert not is_vietnamese(text)
    assert not looks_unaccented_vietnamese(text)
    assert reply_language(chosen=None, telegram_language_code=None, text=text) == "en"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "123 456", "😀😀😀", "👍", "!!!", "SK-2026-000001", "ok", "hi", "QC KPI"],
)
def test_nothing_to_go_on_returns_default(text: str) -> None:
    assert detect_language(text) == "vi"
    assert detect_language(text, default="en") == "en"
    assert detect_language(text, default="") == ""
    assert not is_vietnamese(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ko dc", "vi"),
        ("Cảm ơn", "vi"),
        ("cam on", "vi"),
        ("xin chao", "vi"),
        ("Xin chào!", "vi"),
        ("thank you", "en"),
        ("Hello", "en"),
    ],
)
def test_short_text_decided_by_dictionary(text: str, expected: str) -> None:
    assert detect_language(text, default="xx") == expected


def test_only_ambiguous_words_return_default() -> None:
    # "tổ cần thêm" typed without marks is also three English words.
    assert detect_language("to can them", default="xx") == "xx"
    assert reply_language(chosen=None, telegram_language_code=None, text="to can them") == "vi"


def test_other_languages_are_reported() -> None:
    assert detect_language("Wir sollten die Maschine jeden Tag gründlich reinigen") == "de"
    assert (
        detect_language("Je voudrais proposer une idée pour améliorer la sécurité de l'atelier")
        == "fr"
    )
    assert detect_language("我们应该每天清洁机器，并且检查安全设备") == "zh"


def test_mixed_text_with_english_terms_stays_vietnamese() -> None:
    assert detect_language("Đề xuất dùng app Zalo để báo ca thay vì gọi điện") == "vi"
    assert detect_language("de xuat dung app zalo de bao ca thay vi goi dien") == "vi"


def test_decomposed_input() -> None:
    decomposed = unicodedata.normalize("NFD", VIETNAMESE_IDEAS[0])
    assert detect_language(decomposed) == "vi"


# --- syllable structure and data files -----------------------------------------------


@pytest.mark.parametrize(
    "word",
    ["nguoi", "nghieng", "khuya", "quyet", "giuong", "ruou", "thuo", "oong", "khuynh", "yeu",
     "uong", "gi", "gin", "quoc", "huou", "Người", "ĐƯỜNG", "khuỷu", "xoong"],
)  # fmt: skip
def test_valid_syllables(word: str) -> None:
    assert is_valid_syllable(word)


@pytest.mark.parametrize(
    "word",
    ["key", "ce", "ci", "ge", "nge", "nghea", "khas", "str", "their",
     "and", "with", "often", "belt", "fan", "wat", "quack", "ieu", "tyen", "coa", "qu", ""],
)  # fmt: skip
def test_invalid_syllables(word: str) -> None:
    assert not is_valid_syllable(word)


def test_common_syllables_are_valid() -> None:
    assert len(COMMON_VI_SYLLABLES) >= 1000
    assert not COMMON_VI_SYLLABLES - VALID_SYLLABLES


def test_every_folded_corpus_word_is_a_syllable() -> None:
    """The generated structure covers what real Vietnamese text contains."""
    words = {w for text in VIETNAMESE_IDEAS for w in fold(text).replace(",", " ").split()}
    words = {w.strip(".;:!?") for w in words}
    exceptions = {"led", "5s", "video", "carton", "camera"}
    bad = {w for w in words if w and w not in exceptions and not w.isdigit()}
    assert {w for w in bad if w not in VALID_SYLLABLES} == set()


def test_shortcuts_are_folded() -> None:
    assert "dc" in VI_SHORTCUTS
    assert all(fold(s) == s for s in VI_SHORTCUTS)


# --- reply_language ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen", "code", "text", "expected"),
    [
        ("en", "vi", "Xin chào", "en"),
        ("vi", "en", "Hello there, how are you?", "vi"),
        ("EN", None, None, "en"),
        (None, "en", "cong nhan ko du quat", "en"),
        (None, "en-GB", None, "en"),
        (None, "vi", "The conveyor belt stops too often", "vi"),
        (None, "vi-VN", None, "vi"),
        (None, "ru", "The conveyor belt stops too often", "en"),
        (None, "ru", "bang chuyen hay bi dung", "vi"),
        (None, None, None, "vi"),
        (None, None, "", "vi"),
        (None, None, "😀", "vi"),
        ("fr", None, "The conveyor belt stops too often", "en"),
        ("fr", "de", None, "vi"),
        (None, None, "Wir sollten die Maschine jeden Tag gründlich reinigen", "vi"),
    ],
)
def test_reply_language(
    chosen: str | None, code: str | None, text: str | None, expected: str
) -> None:
    assert reply_language(chosen=chosen, telegram_language_code=code, text=text) == expected


# --- robustness and speed -------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_detect_language_never_raises(text: str) -> None:
    result = detect_language(text)
    assert isinstance(result, str)
    assert result
    assert reply_language(chosen=None, telegram_language_code=None, text=text) in {"vi", "en"}


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(categories=["L", "M", "Zs", "P"]), max_size=400))
def test_detect_language_never_raises_on_letters(text: str) -> None:
    assert detect_language(text, default="vi")


def _best_time_ms(text: str, repeat: int = 20) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        detect_language(text)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def test_speed_after_warm_up() -> None:
    language.warm_up()
    vietnamese = " ".join(VIETNAMESE_IDEAS)[:300]
    unaccented = fold(vietnamese)
    english = " ".join(ENGLISH_IDEAS)[:300]
    for text in (vietnamese, unaccented, english):
        assert len(text) == 300
        assert _best_time_ms(text) < 5.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bo phan IT can support lai wifi o van phong", "vi"),
        ("anh Tuan to truong chuyen 5 la nguoi rat tot", "vi"),
        ("e thay cty nen tang luong cho cn z moi dung", "vi"),
        ("wifi yeu qua, ko vao dc zalo", "vi"),
        ("hello, toi muon gop y", "vi"),
        ("DE NGHI CONG TY SUA MAY LANH", "vi"),
        ("PLEASE FIX THE AIR CONDITIONER", "en"),
        ("bo phan QC can them nguoi check hang", "vi"),
        ("Cần thêm nhân viên QC và KCS", "vi"),
        ("The QC team needs more lights", "en"),
        ("Mr Nguyen Van Anh from line 5 proposed a new jig", "en"),
        ("Our Cong doan should organise a trip to Vung Tau", "en"),
        ("Hi team, any update on my idea?", "en"),
        ("Can I submit an idea?", "en"),
    ],
)
def test_mixed_names_acronyms_and_shouting(text: str, expected: str) -> None:
    assert detect_language(text, default="xx") == expected
