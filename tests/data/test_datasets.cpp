// Each file layout on a fixture the test writes (a few random images and masks), read
// back exactly, plus the errors: missing files, a mask of another size, a bad label, a
// missing list, a bad split.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/dataset.h"
#include "data/image.h"
#include "data/png_chunks.h"
#include "tests/check_close.h"
#include "tests/data/fixtures.h"

namespace tdseg::testing {
namespace {

void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

Tensor labels(const std::vector<uint8_t>& v, int64_t w, int64_t h) {
  return Tensor::from_vector<int32_t>({h, w}, std::vector<int32_t>(v.begin(), v.end()));
}

// A random RGB image file of w x h (PNG or, by extension, JPEG).
void write_image(const std::string& path, int64_t w, int64_t h, Generator& gen) {
  const auto rgb = random_bytes(w * h * 3, gen);
  if (path.size() > 4 && path.substr(path.size() - 4) == ".png")
    write_png_in(path, w, h, 3, rgb);
  else
    write_jpeg(path, w, h, rgb);
}

// Random labels in [0, classes) with some 255s.
std::vector<uint8_t> random_labels(int64_t n, int64_t classes, Generator& gen) {
  auto v = random_bytes(n, gen, 0, static_cast<int>(classes) - 1);
  for (auto& x : v)
    if (gen.uniform(0, 1) < 0.1) x = 255;
  return v;
}

DatasetOptions options(const std::string& format, const std::string& root,
                       const std::string& split) {
  DatasetOptions o;
  o.format = format;
  o.root = root;
  o.split = split;
  return o;
}

TEST(Voc, SplitsPaletteMasksAndTrainaug) {
  Generator gen(11);
  const ScratchDir scratch("voc");
  const std::string root = scratch.path();
  const std::vector<std::string> ids{"2007_000032", "2007_000039", "2008_000123"};
  std::vector<std::vector<uint8_t>> masks, aug;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t w = 10 + i, h = 7 + 2 * i;
    write_image(root + "JPEGImages/" + ids[i] + ".jpg", w, h, gen);
    masks.push_back(random_labels(w * h, 21, gen));
    write_bytes(root + "SegmentationClass/" + ids[i] + ".png",
                indexed_png(w, h, 8, kPngPalette, voc_palette(), masks.back()));
    aug.push_back(random_labels(w * h, 21, gen));
    write_png_in(root + "SegmentationClassAug/" + ids[i] + ".png", w, h, 1, aug.back());
  }
  write_text(root + "ImageSets/Segmentation/train.txt", ids[0] + "\n" + ids[2] + "\r\n\n");
  write_text(root + "ImageSets/Segmentation/val.txt", ids[1] + "\n");
  write_text(root + "ImageSets/Segmentation/trainaug.txt",
             ids[0] + "\n" + ids[1] + "\n" + ids[2] + "\n");

  const auto train = make_dataset(options("voc", root, "train"));
  ASSERT_EQ(train->size(), 2u);
  EXPECT_EQ(train->classes(), 21);
  EXPECT_EQ(train->class_names().size(), 21u);
  EXPECT_EQ(train->class_names()[15], "person");
  EXPECT_EQ(train->star_class(), -1);
  const Sample s = train->get(1);
  EXPECT_EQ(s.id, ids[2]);
  EXPECT_EQ(s.image.shape(), (Shape{3, 11, 12}));
  EXPECT_TRUE(all_close(s.mask, labels(masks[2], 12, 11), 0, 0));
  EXPECT_TRUE(all_close(s.image, read_image(root + "JPEGImages/" + ids[2] + ".jpg"), 0, 0));

  const auto val = make_dataset(options("voc", root, "val"));
  ASSERT_EQ(val->size(), 1u);
  EXPECT_TRUE(all_close(val->get(0).mask, labels(masks[1], 11, 9), 0, 0));

  const auto trainaug = make_dataset(options("voc", root, "trainaug"));
  ASSERT_EQ(trainaug->size(), 3u);
  EXPECT_TRUE(all_close(trainaug->get(1).mask, labels(aug[1], 11, 9), 0, 0));

  DatasetOptions listed = options("voc", root, "train");
  listed.list = root + "mine.txt";
  write_text(listed.list, ids[1] + "\n");
  const auto mine = make_dataset(listed);
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ(mine->get(0).id, ids[1]);
}

TEST(Voc, Errors) {
  Generator gen(12);
  const ScratchDir scratch("voc");
  const std::string root = scratch.path();
  write_image(root + "JPEGImages/a.jpg", 6, 5, gen);
  write_png_in(root + "SegmentationClass/a.png", 5, 6, 1,
               random_labels(30, 21, gen));  // transposed
  write_image(root + "JPEGImages/b.jpg", 6, 5, gen);
  auto bad = random_labels(30, 21, gen);
  bad[6 * 3 + 4] = 37;
  write_bytes(root + "SegmentationClass/b.png",
              indexed_png(6, 5, 8, kPngPalette, voc_palette(), bad));
  write_text(root + "ImageSets/Segmentation/train.txt", "a\nb\nc\n");
  const auto d = make_dataset(options("voc", root, "train"));
  EXPECT_THROW_MSG(d->get(0), IOError,
                   root + "SegmentationClass/a.png: mask of 5x6 pixels, but its image " + root +
                       "JPEGImages/a.jpg is 6x5");
  EXPECT_THROW_MSG(d->get(1), IOError,
                   root +
                       "SegmentationClass/b.png: label 37 at (4, 3) is outside [0, 21) and is "
                       "not the ignore label 255");
  EXPECT_THROW_MSG(d->get(2), IOError, root + "JPEGImages/c.jpg: cannot open");
  EXPECT_THROW_MSG(d->get(3), ValueError, "voc train: sample 3 of 3");

  EXPECT_THROW_MSG(make_dataset(options("voc", root, "val")), IOError,
                   root + "ImageSets/Segmentation/val.txt: cannot open the list file");
  EXPECT_THROW_MSG(make_dataset(options("voc", root, "test")), ValueError,
                   "voc: unknown split 'test' (train, val, trainval, trainaug)");
  EXPECT_THROW_MSG(make_dataset(options("voc", root + "nowhere", "train")), IOError,
                   "voc: dataset root '" + root + "nowhere' is not a folder");
  write_text(root + "two.txt", "a\nb c\n");
  DatasetOptions listed = options("voc", root, "train");
  listed.list = root + "two.txt";
  EXPECT_THROW_MSG(make_dataset(listed), IOError, root + "two.txt:2: 'b c' is not one sample id");
  EXPECT_THROW_MSG(make_dataset(options("coco", root, "train")), ValueError,
                   "dataset: unknown format 'coco'");
}

TEST(Cityscapes, LabelIdsToTrainIds) {
  Generator gen(13);
  const ScratchDir scratch("cityscapes");
  const std::string root = scratch.path();
  // labelId -> trainId of cityscapesScripts' labels.py, written out independently.
  std::vector<int32_t> train_id(256, 255);
  const int pairs[19][2] = {{7, 0},   {8, 1},   {11, 2},  {12, 3},  {13, 4},  {17, 5},  {19, 6},
                            {20, 7},  {21, 8},  {22, 9},  {23, 10}, {24, 11}, {25, 12}, {26, 13},
                            {27, 14}, {28, 15}, {31, 16}, {32, 17}, {33, 18}};
  for (const auto& p : pairs) train_id[p[0]] = p[1];
  const std::vector<std::string> ids{"bochum/bochum_000000_000313", "aachen/aachen_000000_000019",
                                     "aachen/aachen_000001_000019"};
  std::vector<std::vector<uint8_t>> label_ids;
  for (const std::string& id : ids) {
    write_image(root + "leftImg8bit/train/" + id + "_leftImg8bit.png", 8, 4, gen);
    label_ids.push_back(random_bytes(32, gen, 0, 34));
    label_ids.back()[0] = 255;  // license plate's -1 as stored: ignored too
    write_png_in(root + "gtFine/train/" + id + "_gtFine_labelIds.png", 8, 4, 1, label_ids.back());
  }
  write_text(root + "gtFine/train/aachen/aachen_000000_000019_gtFine_color.png", "not read");
  const auto d = make_dataset(options("cityscapes", root, "train"));
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ(d->classes(), 19);
  EXPECT_EQ(d->class_names()[6], "traffic light");
  const int order[3] = {1, 2, 0};  // sorted by city, then file
  for (int k = 0; k < 3; ++k) {
    const Sample s = d->get(k);
    EXPECT_EQ(s.id, ids[order[k]]);
    std::vector<int32_t> expected;
    for (uint8_t v : label_ids[order[k]]) expected.push_back(train_id[v]);
    EXPECT_TRUE(all_close(s.mask, Tensor::from_vector<int32_t>({4, 8}, expected), 0, 0));
  }
  EXPECT_THROW_MSG(make_dataset(options("cityscapes", root, "val")), IOError,
                   "cityscapes: split folder '" + root + "leftImg8bit/val/' is not a folder");
  DatasetOptions listed = options("cityscapes", root, "train");
  listed.list = root + "list.txt";
  write_text(listed.list, "aachen/aachen_000009_000019\n");
  EXPECT_THROW_MSG(
      make_dataset(listed)->get(0), IOError,
      root + "leftImg8bit/train/aachen/aachen_000009_000019_leftImg8bit.png: cannot open");
}

TEST(Isic, BinaryMasksAndSplits) {
  Generator gen(14);
  const ScratchDir scratch("isic");
  const std::string root = scratch.path();
  for (const std::string split : {"Training", "Validation"}) {
    for (const std::string id : {"ISIC_0000000", "ISIC_0000001"}) {
      write_image(root + "ISIC2018_Task1-2_" + split + "_Input/" + id + ".jpg", 9, 6, gen);
      auto m = random_bytes(54, gen, 0, 1);
      for (auto& v : m) v *= 255;
      write_png_in(root + "ISIC2018_Task1_" + split + "_GroundTruth/" + id + "_segmentation.png", 9,
                   6, 1, m);
    }
    write_text(root + "ISIC2018_Task1-2_" + split + "_Input/ATTRIBUTION.txt", "not an image");
  }
  const auto train = make_dataset(options("isic", root, "train"));
  ASSERT_EQ(train->size(), 2u);
  EXPECT_EQ(train->classes(), 2);
  EXPECT_EQ(train->star_class(), 1);
  const Sample s = train->get(1);
  EXPECT_EQ(s.id, "ISIC_0000001");
  const Tensor raw =
      read_mask(root + "ISIC2018_Task1_Training_GroundTruth/ISIC_0000001_segmentation.png");
  for (int64_t k = 0; k < 54; ++k)
    EXPECT_EQ(s.mask.data<int32_t>()[k], raw.data<int32_t>()[k] / 255);
  const auto val = make_dataset(options("isic", root, "val"));
  ASSERT_EQ(val->size(), 2u);
  EXPECT_EQ(val->name(), "isic val");

  auto bad = random_bytes(54, gen, 0, 1);
  for (auto& v : bad) v *= 255;
  bad[9 + 2] = 17;
  write_png_in(root + "ISIC2018_Task1_Validation_GroundTruth/ISIC_0000000_segmentation.png", 9, 6,
               1, bad);
  EXPECT_THROW_MSG(val->get(0), IOError,
                   "ISIC_0000000_segmentation.png: label 17 at (2, 1) is neither 0 (background) "
                   "nor 255 (lesion)");
  EXPECT_THROW_MSG(make_dataset(options("isic", root, "trainval")), ValueError,
                   "isic: unknown split 'trainval' (train, val, test)");
}

TEST(Folder, StemsExtensionsSplitsAndClasses) {
  Generator gen(15);
  const ScratchDir scratch("folder");
  const std::string root = scratch.path();
  const char* images[] = {"c.jpeg", "a.png", "b.jpg"};
  std::vector<std::vector<uint8_t>> masks;
  for (const char* name : images) {
    write_image(root + "images/" + name, 5, 7, gen);
    const std::string stem = std::string(name).substr(0, 1);
    masks.push_back(random_labels(35, 4, gen));
    write_png_in(root + "masks/" + stem + ".png", 5, 7, 1, masks.back());
  }
  write_text(root + "images/notes.txt", "skipped");
  DatasetOptions o = options("folder", root, "train");
  EXPECT_THROW_MSG(make_dataset(o), ValueError, "folder: the number of classes must be given");
  o.classes = 4;
  const auto d = make_dataset(o);
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ(d->get(0).id, "a");
  EXPECT_EQ(d->get(2).id, "c");
  EXPECT_TRUE(all_close(d->get(1).mask, labels(masks[2], 5, 7), 0, 0));
  EXPECT_TRUE(all_close(d->get(0).image, read_image(root + "images/a.png"), 0, 0));

  o.classes = 3;  // now some labels are out of range
  EXPECT_THROW(make_dataset(o)->get(0), IOError);

  // ROOT/SPLIT wins when it exists.
  o.classes = 4;
  o.split = "val";
  write_image(root + "val/images/z.png", 3, 3, gen);
  write_png_in(root + "val/masks/z.png", 3, 3, 1, random_labels(9, 4, gen));
  const auto val = make_dataset(o);
  ASSERT_EQ(val->size(), 1u);
  EXPECT_EQ(val->get(0).id, "z");

  write_image(root + "images/a.jpg", 5, 7, gen);
  o.split = "train";
  EXPECT_THROW_MSG(
      make_dataset(o), IOError,
      "folder: two images for 'a': " + root + "images/a.png and " + root + "images/a.jpg");
}

}  // namespace
}  // namespace tdseg::testing
