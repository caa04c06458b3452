// The file datasets' factories, one per layout (one file each), called by make_dataset.
// Each lists its samples at construction (an IOError for a missing folder or list file)
// and reads them in get(); the layouts are documented beside each factory.
#pragma once
#include <memory>

#include "data/dataset.h"

namespace tdseg {

// PASCAL VOC 2012, 21 classes. Splits train, val, trainval: ROOT/JPEGImages/ID.jpg and
// ROOT/SegmentationClass/ID.png (palette indices, 255 the object borders), ids from
// ROOT/ImageSets/Segmentation/SPLIT.txt. Split trainaug: masks from
// ROOT/SegmentationClassAug/ID.png (gray indices), ids from .../Segmentation/trainaug.txt.
std::unique_ptr<Dataset> make_voc(const DatasetOptions& options);

// Cityscapes, 19 classes: ROOT/leftImg8bit/SPLIT/CITY/ID_leftImg8bit.png and
// ROOT/gtFine/SPLIT/CITY/ID_gtFine_labelIds.png, labelIds mapped to the trainIds of
// cityscapesScripts' labels.py (others to 255). Ids are CITY/STEM ("aachen/aachen_000000_000019"),
// found by scanning the split's city folders, or from the list file.
std::unique_ptr<Dataset> make_cityscapes(const DatasetOptions& options);

// ISIC 2018 task 1, 2 classes (background, lesion; the star class is the lesion). Split
// train, val, test -> S = Training, Validation, Test: ROOT/ISIC2018_Task1-2_S_Input/ID.jpg
// and ROOT/ISIC2018_Task1_S_GroundTruth/ID_segmentation.png (0 background, 255 lesion).
std::unique_ptr<Dataset> make_isic(const DatasetOptions& options);

// A folder pair, options.classes classes (required): DIR/images/STEM.{png,jpg,jpeg} and
// DIR/masks/STEM.png (gray or palette indices), where DIR is ROOT/SPLIT when that folder
// exists and ROOT otherwise (so one folder can serve every split).
std::unique_ptr<Dataset> make_folder(const DatasetOptions& options);

}  // namespace tdseg
